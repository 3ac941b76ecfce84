// A set of archive paths kept as a tree of their segments, so that memory grows with the distinct
// segments a layer names, not with the square of its depth (a set of "a", "a/b", "a/b/c" strings).

type Node = Map<string, Node>;

export class PathTree {
  private readonly root: Node = new Map();

  /** Adds the path and its parents; returns the bytes of segments newly stored (for the image's limits). */
  add(segments: readonly string[]): number {
    let node = this.root;
    let added = 0;
    for (const s of segments) {
      let next = node.get(s);
      if (next === undefined) {
        next = new Map();
        node.set(s, next);
        added += s.length;
      }
      node = next;
    }
    return added;
  }

  has(segments: readonly string[]): boolean {
    return this.find(segments) !== undefined;
  }

  /** Removes the path and everything under it. */
  delete(segments: readonly string[]): void {
    if (segments.length === 0) return this.root.clear();
    this.find(segments.slice(0, -1))?.delete(segments[segments.length - 1]!);
  }

  private find(segments: readonly string[]): Node | undefined {
    let node: Node | undefined = this.root;
    for (const s of segments) {
      node = node.get(s);
      if (node === undefined) return undefined;
    }
    return node;
  }
}
