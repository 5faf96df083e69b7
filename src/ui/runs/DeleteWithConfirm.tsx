// A Delete button that asks for confirmation inline (Delete run / Keep) before calling its async callback.
import { useEffect, useRef, useState } from 'react';
import './runs.css';

export interface DeleteWithConfirmProps {
  /** Deletes; a rejection goes to `onError` and the button comes back. */
  onDelete(): Promise<void>;
  onError(error: unknown): void;
  disabled?: boolean;
  /** Tooltip of the disabled button. */
  disabledReason?: string;
  /** Names the thing deleted, for screen readers ("run Sentiment sweep"). */
  subject: string;
}

/**
 * Test ids: `run-delete` (first click), then `run-delete-confirm` and `run-delete-cancel`. Escape
 * or "Keep" steps back; while the deletion runs, the confirm button shows "Deleting…".
 */
export function DeleteWithConfirm({ onDelete, onError, disabled = false, disabledReason, subject }: DeleteWithConfirmProps) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const live = useRef(true);
  const confirmRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);
  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);
  useEffect(() => {
    if (disabled) setConfirming(false);
  }, [disabled]);

  const confirm = async () => {
    setBusy(true);
    try {
      await onDelete();
    } catch (error) {
      onError(error);
    } finally {
      if (live.current) {
        setBusy(false);
        setConfirming(false);
      }
    }
  };

  if (!confirming) {
    return (
      <button
        type="button"
        className="button runs-button runs-button-danger"
        onClick={() => setConfirming(true)}
        disabled={disabled}
        title={disabled ? disabledReason : `Delete ${subject}`}
        aria-label={`Delete ${subject}`}
        data-testid="run-delete"
      >
        Delete
      </button>
    );
  }
  return (
    <span className="runs-confirm" role="group" aria-label={`Confirm deleting ${subject}`} onKeyDown={(e) => e.key === 'Escape' && !busy && setConfirming(false)}>
      <span className="runs-confirm-question">Delete?</span>
      <button
        type="button"
        ref={confirmRef}
        className="button runs-button runs-button-danger-solid"
        onClick={() => void confirm()}
        disabled={busy}
        data-testid="run-delete-confirm"
      >
        {busy ? 'Deleting…' : 'Delete run'}
      </button>
      <button type="button" className="button runs-button" onClick={() => setConfirming(false)} disabled={busy} data-testid="run-delete-cancel">
        Keep
      </button>
    </span>
  );
}
