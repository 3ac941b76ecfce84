// What a store throws when it cannot do what was asked, as classes a caller can tell apart (the
// activity that serves artifact reads maps them to its failures). Pure: no node:*.

/** A location the store does not hold (any more): past its retention, removed, or never stored. */
export class ArtifactNotStored extends Error {
  override readonly name = 'ArtifactNotStored';
  readonly location: string;
  constructor(location: string) {
    super(`artifact ${location} is not stored here (any more): past its retention, or removed`);
    this.location = location;
  }
}

/** A folder-store location of another host: only that host's store can read it. */
export class ArtifactOnAnotherHost extends Error {
  override readonly name = 'ArtifactOnAnotherHost';
  readonly location: string;
  /** The host that holds it. */
  readonly hostId: string;
  constructor(location: string, hostId: string, thisHostId: string) {
    super(
      `artifact ${location} is held by host ${JSON.stringify(hostId)}, not this one (${JSON.stringify(thisHostId)}): ` +
        'read it on that host',
    );
    this.location = location;
    this.hostId = hostId;
  }
}

/** A put refused: the store would pass its quota even once expired artifacts are swept. */
export class ArtifactQuotaExceeded extends Error {
  override readonly name = 'ArtifactQuotaExceeded';
  readonly quotaBytes: number;
  readonly usedBytes: number;
  readonly askedBytes: number;
  constructor(quotaBytes: number, usedBytes: number, askedBytes: number) {
    super(
      `artifact store quota of ${quotaBytes} bytes would be exceeded: ${usedBytes} bytes kept or being stored, ` +
        `${askedBytes} more asked`,
    );
    this.quotaBytes = quotaBytes;
    this.usedBytes = usedBytes;
    this.askedBytes = askedBytes;
  }
}
