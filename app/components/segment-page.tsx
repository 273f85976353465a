// A detail page (a job, a restore, a VM): the one dynamic segment of its address, decoded, is
// what its view shows.
import type { ComponentType } from "react";

/** A malformed escape stays as it was typed: the API answers "not found" for it. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The default export of a page.tsx under `[key]`: its view gets the decoded segment as prop `key`. */
export function segmentPage<K extends string>(key: K, View: ComponentType<Record<K, string>>) {
  return async function SegmentPage({ params }: { params: Promise<Record<K, string>> }) {
    const props = { [key]: decoded((await params)[key]) } as Record<K, string>;
    return <View {...props} />;
  };
}
