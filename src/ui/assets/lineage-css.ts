/**
 * The lineage page's styles (reference/ui-screens.md §2.3), appended to `/ui/assets/custody.css`
 * by `ui-assets.ts` (the CSP allows styles from this server only, never inline): the controls on
 * one line, the graph scrolling sideways when wide, legend samples aligned with their words, and
 * long values in the edge table wrapping instead of overflowing. The graph itself is styled by
 * SVG presentation attributes (`lineage-svg.ts`).
 */
export const LINEAGE_CSS = `
.lineage-controls { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; margin-bottom: 8px; }
.lineage-controls select { width: auto; }
.lineage-controls fieldset { display: flex; flex-wrap: wrap; gap: 4px 12px; border: 1px solid var(--line); border-radius: 4px; margin: 0; padding: 2px 10px 6px; }
.lineage-controls fieldset label { font-weight: 400; }
.lineage-graph { margin: 8px 0; overflow-x: auto; }
.lineage-legend { padding-left: 20px; }
.lineage-legend svg { vertical-align: middle; margin-right: 4px; }
.lineage-edges td:nth-child(2) { white-space: nowrap; }
.lineage-edges code { overflow-wrap: anywhere; }
`;
