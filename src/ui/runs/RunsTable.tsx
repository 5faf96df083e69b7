// The scrolling table shell of the runs view: a header row of column names over the rows a caller renders.
import type { ReactNode } from 'react';
import './runs.css';

export function RunsTable({ head, className, children }: { head: readonly string[]; className?: string; children: ReactNode }) {
  return (
    <div className="runs-table-scroll">
      <table className={className ? `runs-table ${className}` : 'runs-table'}>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
