// Choosing a host. Runs as a local activity on the worker that runs the workflow task, so
// the default placement is "this host": no extra round trip through the server.
export function createPlacementActivities({ hostId }: { hostId: string }) {
  return {
    async placeCell(_input: { cellId: string }): Promise<{ hostId: string }> {
      return { hostId };
    },
  };
}
