// Builds small images for the rootfs tests: layer tars (with tar-stream, so hostile entries
// are easy to write), OCI image layouts, tarballs of them, and docker-save archives.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, lstat, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

export interface LayerEntry {
  name: string;
  type?: Header['type'];
  content?: string | Uint8Array;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
}

const MTIME = new Date('2024-01-02T03:04:05Z');

/** A layer tar (uncompressed) holding exactly these entries, in this order. */
export async function layerTar(entries: readonly LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: MTIME,
      ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') p.entry(header, e.content ?? '', cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
export const gzip = (data: Uint8Array) => gzipSync(data);

export async function writeBlob(dir: string, data: Uint8Array): Promise<{ digest: string; size: number }> {
  const hex = sha256(data);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

export interface ImageSpec {
  /** Uncompressed layer tars, lowest first. */
  layers: readonly Buffer[];
  /** Layers already gzip-compressed, written as they are (their diff_ids are not computed). */
  gzippedLayers?: readonly Buffer[];
  gzipLayers?: boolean;
  os?: string;
  architecture?: string;
}

/** Writes config, layers and manifest blobs; returns the manifest descriptor. */
export async function addImage(dir: string, spec: ImageSpec) {
  const layerDescriptors = [];
  for (const gz of spec.gzippedLayers ?? []) {
    layerDescriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await writeBlob(dir, gz)) });
  }
  for (const tar of spec.layers) {
    const data = spec.gzipLayers === false ? tar : gzip(tar);
    const mediaType =
      spec.gzipLayers === false
        ? 'application/vnd.oci.image.layer.v1.tar'
        : 'application/vnd.oci.image.layer.v1.tar+gzip';
    layerDescriptors.push({ mediaType, ...(await writeBlob(dir, data)) });
  }
  const platform = { os: spec.os ?? 'linux', architecture: spec.architecture ?? 'amd64' };
  const config = Buffer.from(
    JSON.stringify({
      ...platform,
      config: {},
      rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => `sha256:${sha256(l)}`) },
    }),
  );
  const configDescriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await writeBlob(dir, config)) };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDescriptor,
      layers: layerDescriptors,
    }),
  );
  const blob = await writeBlob(dir, manifest);
  return { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...blob, platform, layers: layerDescriptors };
}

/** An OCI image layout with these images listed in index.json; returns the manifest descriptors. */
export async function ociLayout(dir: string, images: readonly ImageSpec[], withPlatform = true) {
  await mkdir(dir, { recursive: true });
  const manifests = [];
  for (const spec of images) manifests.push(await addImage(dir, spec));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: manifests.map(({ mediaType, digest, size, platform }) => ({
        mediaType,
        digest,
        size,
        ...(withPlatform ? { platform } : {}),
      })),
    }),
  );
  return manifests;
}

/** A tar (optionally gzip) of a directory's files, symlinks and subdirectories. */
export async function tarDirectory(dir: string, out: string, compress = false): Promise<void> {
  const entries: LayerEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(dir, r));
      if (st.isDirectory()) {
        entries.push({ name: `${r}/`, type: 'directory' });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        entries.push({ name: r, type: 'symlink', linkname: await readlink(join(dir, r)) });
      } else {
        entries.push({ name: r, content: await readFile(join(dir, r)) });
      }
    }
  };
  await walk('');
  const tar = await layerTar(entries);
  await writeFile(out, compress ? gzip(tar) : tar);
}

/** A classic `docker save` archive: manifest.json, <config-hex>.json, <n>/layer.tar. */
export async function dockerSave(out: string, layers: readonly Buffer[], tags = ['test/image:latest']) {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha256(l)}`) },
    }),
  );
  const configName = `${sha256(config)}.json`;
  const entries: LayerEntry[] = [{ name: configName, content: config }];
  const layerNames = layers.map((_, i) => `${String(i).padStart(64, 'a')}/layer.tar`);
  layers.forEach((l, i) => {
    entries.push({ name: layerNames[i]!.replace('/layer.tar', '/'), type: 'directory' });
    entries.push({ name: layerNames[i]!, content: l });
  });
  entries.push({
    name: 'manifest.json',
    content: JSON.stringify([{ Config: configName, RepoTags: tags, Layers: layerNames }]),
  });
  await writeFile(out, await layerTar(entries));
  return { digest: `sha256:${sha256(config)}`, configName, layerNames };
}

/** The two-layer image most tests use: busybox, a whiteout, an opaque directory, a hardlink. */
export async function sampleLayers(): Promise<Buffer[]> {
  const busybox = await readFile('/bin/busybox');
  const lower = await layerTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: busybox, mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/motd', content: 'hello\n' },
    { name: 'etc/motd-link', type: 'link', linkname: 'etc/motd' },
    { name: 'etc/remove-me', content: 'doomed\n' },
    { name: 'etc/remove-dir/', type: 'directory' },
    { name: 'etc/remove-dir/inner', content: 'doomed too\n' },
    { name: 'opaque/', type: 'directory' },
    { name: 'opaque/old', content: 'hidden by layer 2\n' },
    { name: 'opaque/sub/', type: 'directory' },
    { name: 'opaque/sub/deep', content: 'hidden too\n' },
    { name: 'home/', type: 'directory' },
    { name: 'home/user/', type: 'directory', uid: 1000, gid: 1000, mode: 0o700 },
    { name: 'usr/bin/su-like', content: '#!/bin/sh\n', mode: 0o4755 },
    { name: 'dev/null', type: 'character-device' },
  ]);
  const upper = await layerTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.remove-me', content: '' },
    { name: 'etc/.wh.remove-dir', content: '' },
    { name: 'etc/motd', content: 'hello from layer 2\n' },
    { name: 'opaque/', type: 'directory' },
    { name: 'opaque/new', content: 'added by layer 2\n' },
    { name: 'opaque/.wh..wh..opq', content: '' },
  ]);
  return [lower, upper];
}

/** A ustar header for one regular file of `size` bytes (tar-stream would want the body in memory). */
export function fileHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) => h.write(value, offset, length, 'latin1');
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0');
  field(name, 0, 100);
  field(octal(0o644, 8), 100, 8);
  field(octal(0, 8), 108, 8);
  field(octal(0, 8), 116, 8);
  field(octal(size, 12), 124, 12);
  field(octal(Math.floor(MTIME.getTime() / 1000), 12), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  field(`${octal(sum, 7)}\u0000 `, 148, 8);
  return h;
}

/**
 * A gzip layer of one file holding `bytes` zeros, small on disk: gzip members of 1 MiB of zeros
 * (about 1 KiB each) concatenated, which gunzip reads as one stream. 2 GiB of zeros is about 2 MB.
 */
export function zeroBombLayer(bytes: number, name = 'zeros'): Buffer {
  const MiB = 1024 * 1024;
  if (bytes % MiB !== 0) throw new Error('zeroBombLayer: whole MiB only');
  const mib = gzip(Buffer.alloc(MiB));
  const parts = [gzip(fileHeader(name, bytes))];
  for (let i = 0; i < bytes / MiB; i++) parts.push(mib);
  parts.push(gzip(Buffer.alloc(1024)));
  return Buffer.concat(parts);
}
