import type { BuildOptions } from 'esbuild';

export const root: string;
export const version: string;
export function sharedOptions(target: string): BuildOptions & { metafile: true };
