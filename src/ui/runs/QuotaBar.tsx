// A bar of this site's storage against the browser's quota, split into this database and the site's other storage.
import { formatBytes } from '../../report/format.ts';
import type { QuotaShare } from './storage-usage.ts';
import './runs.css';

/** Test id `storage-quota` with `data-fraction` (site usage / quota). */
export function QuotaBar({ share }: { share: QuotaShare }) {
  const percent = (f: number) => `${(100 * f).toFixed(f > 0 && f < 0.01 ? 2 : 1)}%`;
  const other = Math.max(0, share.fraction - share.databaseFraction);
  return (
    <div className="storage-quota" data-testid="storage-quota" data-fraction={share.fraction.toFixed(4)}>
      <div
        className="storage-quota-track"
        role="meter"
        aria-valuemin={0}
        aria-valuemax={share.quota}
        aria-valuenow={share.used}
        aria-label="Storage used of the browser's quota"
      >
        <span className="storage-quota-db" style={{ width: `${100 * share.databaseFraction}%` }} />
        <span className="storage-quota-other" style={{ width: `${100 * other}%` }} />
      </div>
      <div className="storage-quota-legend">
        <span>
          <span className="storage-key storage-key-db" aria-hidden="true" /> runs and models
        </span>
        <span>
          <span className="storage-key storage-key-other" aria-hidden="true" /> other site data
        </span>
        <span className="muted">
          {formatBytes(share.used)} of {formatBytes(share.quota)} allowed ({percent(share.fraction)})
        </span>
      </div>
    </div>
  );
}
