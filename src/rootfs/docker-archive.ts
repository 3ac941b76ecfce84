// `docker save` archives: manifest.json lists [{ Config, RepoTags, Layers }]. Layers are
// verified against the config's rootfs.diff_ids (digests of the uncompressed layer tars),
// and the config against its own name when that is a digest. The image id (the config
// digest) pins every layer, so it is the cache key.
import { z } from 'zod';
import { sha256Hex, digestHex } from './digest.ts';
import { ImageProblem } from './errors.ts';
import type { ImageSource } from './image-source.ts';
import { parseJson } from './json.ts';
import { pickImage } from './platform.ts';
import { shortDigest, type ImagePlan } from './plan.ts';
import { safeMemberName } from './safe-path.ts';
import type { ImageWork } from './work.ts';

const Entry = z.looseObject({
  Config: z.string(),
  RepoTags: z.array(z.string()).nullish(),
  Layers: z.array(z.string()),
});
const ManifestJson = z.array(Entry);
const Config = z.looseObject({
  os: z.string().optional(),
  architecture: z.string().optional(),
  variant: z.string().optional(),
  rootfs: z.looseObject({ diff_ids: z.array(z.string()) }),
});

/** The config file name carries its digest: "<hex>.json" (classic) or "blobs/sha256/<hex>" (Docker 25+). */
const NAMED_BY_DIGEST = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/;

/** The plan for a docker-save archive, or undefined when the source has no manifest.json. */
export async function planDockerArchive(source: ImageSource, work: ImageWork): Promise<ImagePlan | undefined> {
  const bytes = await source.read('manifest.json');
  if (bytes === undefined) return undefined;
  const entries = parseJson(bytes, ManifestJson, 'manifest.json');
  work.descriptor(entries.length);

  const loaded = new Map<number, Promise<{ hex: string; config: z.infer<typeof Config> }>>();
  const load = (i: number) => {
    let p = loaded.get(i);
    if (p === undefined) {
      p = loadConfig(source, entries[i]!, i);
      loaded.set(i, p);
    }
    return p;
  };
  const chosen = await pickImage(
    entries.map((e, i) => ({
      label: e.RepoTags?.length ? e.RepoTags.join(' ') : e.Config,
      platform: async () => (await load(i)).config,
      value: i,
    })),
    'manifest.json',
  );
  const entry = entries[chosen]!;
  const { hex, config } = await load(chosen);
  work.descriptor(entry.Layers.length);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== entry.Layers.length) {
    throw new ImageProblem(
      'NotAnImage',
      `manifest.json lists ${entry.Layers.length} layers but the config has ${diffIds.length} rootfs.diff_ids`,
    );
  }
  const layers = entry.Layers.map((name, i) => {
    const diffHex = digestHex(diffIds[i], `rootfs.diff_ids[${i}]`);
    return {
      name: safeMemberName(name, `manifest.json Layers[${i}]`),
      label: `layer ${i + 1} (${shortDigest(diffHex)})`,
      expect: { hex: diffHex, decompressed: true },
    };
  });
  return { digest: `sha256:${hex}`, hex, layers };
}

async function loadConfig(source: ImageSource, entry: z.infer<typeof Entry>, i: number) {
  const name = safeMemberName(entry.Config, `manifest.json [${i}].Config`);
  const bytes = await source.read(name);
  if (bytes === undefined) throw new ImageProblem('NotAnImage', `config ${entry.Config} is missing from the image`);
  const hex = sha256Hex(bytes);
  const named = NAMED_BY_DIGEST.exec(name)?.[1];
  if (named !== undefined && named !== hex) {
    throw new ImageProblem(
      'DigestMismatch',
      `digest mismatch for config ${entry.Config}: its name says sha256:${named}, content hashes to sha256:${hex}`,
    );
  }
  return { hex, config: parseJson(bytes, Config, `config ${entry.Config}`) };
}
