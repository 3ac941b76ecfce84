// Custom search attributes the workflow keeps current; registered on the dev server at start.
export const SEARCH_ATTRIBUTES = [
  { name: 'CellId', type: 'Keyword' },
  { name: 'CellPhase', type: 'Keyword' },
  { name: 'CellOutcome', type: 'Keyword' },
  { name: 'CellExitCode', type: 'Int' },
  { name: 'CellHost', type: 'Keyword' },
  { name: 'CellScheduleId', type: 'Keyword' },
] as const;
