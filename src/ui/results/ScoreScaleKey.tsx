// The colour key of the score heatmaps: the scale's gradient from 0 to 100.
import { scoreGradientCss } from '../../report/color-scale.ts';
import './results.css';

/** A labelled gradient bar showing which colour stands for which score. */
export function ScoreScaleKey() {
  return (
    <div className="results-scale" aria-hidden="true">
      <span>0</span>
      <span className="results-scale-bar" style={{ background: scoreGradientCss() }} />
      <span>100</span>
    </div>
  );
}
