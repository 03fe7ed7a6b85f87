// Relevance labels: thumbs up/down on a search result. (Saving them is the next step of the issue.)
export function labelButtons() {
  return null;
}
