// The exported object tree: path → the interfaces (vtable + target) served there. Intermediate paths
// (/, /org, …/container) are implied: they introspect to their children and nothing else.

import type { Vtable } from "./vtable.js";

// biome-ignore lint/suspicious/noExplicitAny: a binding pairs a vtable with its own target type
export type AnyVtable = Vtable<any>;

export interface Binding {
  readonly vtable: AnyVtable;
  readonly target: unknown;
}

export interface ExportedObject {
  readonly path: string;
  readonly bindings: readonly Binding[];
  /** Serves org.freedesktop.DBus.ObjectManager (the manager object). */
  readonly objectManager: boolean;
}

export class ObjectRegistry {
  private readonly objects = new Map<string, ExportedObject>();
  /** Paths that exist even with nothing under them (…/container with no containers). */
  private readonly emptyNodes = new Set<string>();

  addEmptyNode(path: string): void {
    this.emptyNodes.add(path);
  }

  /** An object, an empty node, or a node with something under it. */
  exists(path: string): boolean {
    return this.objects.has(path) || this.emptyNodes.has(path) || this.children(path).length > 0;
  }

  add(object: ExportedObject): void {
    this.objects.set(object.path, object);
  }

  remove(path: string): ExportedObject | undefined {
    const object = this.objects.get(path);
    this.objects.delete(path);
    return object;
  }

  get(path: string): ExportedObject | undefined {
    return this.objects.get(path);
  }

  all(): IterableIterator<ExportedObject> {
    return this.objects.values();
  }

  /** The names of the nodes directly under `path` (exported or implied). */
  children(path: string): string[] {
    const prefix = path === "/" ? "/" : `${path}/`;
    const names = new Set<string>();
    for (const objectPath of [...this.objects.keys(), ...this.emptyNodes]) {
      if (objectPath.startsWith(prefix) && objectPath.length > prefix.length) {
        names.add(objectPath.slice(prefix.length).split("/")[0]!);
      }
    }
    return [...names].sort();
  }
}
