// org.berth.Supervisor1.Manager: creating, finding and listing containers, and the daemon's settings.

import { containerPath, MANAGER_INTERFACE } from "../../common/bus-path.js";
import { NoSuchContainerError } from "../../common/errors.js";
import type { ContainerInfo, CreateOptions } from "../../common/types.js";
import { validateMaxConcurrentStarts } from "../validate.js";
import type { ApiContext } from "./context.js";
import { decodeCreateOptions } from "./options.js";
import { method, property, signal, type Vtable } from "./vtable.js";

/** CreateContainer/RunContainer: the options dictionary's shape is checked before authorization. */
function decodeCreateArgs([id, bundle, options]: unknown[]): unknown[] {
  return [id, bundle, decodeCreateOptions(options)];
}

function found(info: ContainerInfo | undefined, what: string): ContainerInfo {
  if (info !== undefined) return info;
  const error = new NoSuchContainerError(what);
  error.message = `no container ${what}`;
  throw error;
}

export const managerVtable: Vtable<ApiContext> = {
  interface: MANAGER_INTERFACE,
  methods: [
    method(
      "CreateContainer",
      "s id, s bundle, a{sv} options",
      "o container",
      true,
      async (api, [id, bundle, options]) => {
        const info = await api.supervisor.createContainer(
          id as string,
          bundle as string,
          options as CreateOptions,
        );
        return { body: [containerPath(info.id)] };
      },
      decodeCreateArgs,
    ),
    method(
      "RunContainer",
      "s id, s bundle, a{sv} options",
      "o container",
      true,
      async (api, [id, bundle, options]) => {
        const info = await api.supervisor.runContainer(
          id as string,
          bundle as string,
          options as CreateOptions,
        );
        return { body: [containerPath(info.id)] };
      },
      decodeCreateArgs,
    ),
    method("GetContainer", "s id", "o container", false, async (api, [id]) => {
      const info = found(api.supervisor.get(id as string), JSON.stringify(id));
      return { body: [containerPath(info.id)] };
    }),
    method("GetContainerByPID", "u pid", "o container", false, async (api, [pid]) => {
      const info = found(api.supervisor.getByPid(pid as number), `with pid ${pid}`);
      return { body: [containerPath(info.id)] };
    }),
    method("ListContainers", "", "a(ssuo) containers", false, async (api) => ({
      body: [api.supervisor.list().map((info) => [info.id, info.status, info.pid, containerPath(info.id)])],
    })),
  ],
  properties: [
    property("Version", "s", "const", (api) => api.version),
    property("DefaultRuntime", "s", "true", (api) => api.supervisor.defaultRuntime),
    property("Runtimes", "as", "true", (api) => api.supervisor.runtimeNames),
    property(
      "MaxConcurrentStarts",
      "u",
      "true",
      (api) => api.supervisor.maxConcurrentStarts,
      async (api, value) => {
        api.supervisor.maxConcurrentStarts = validateMaxConcurrentStarts(value);
        api.refreshManager();
      },
    ),
    property("ActiveStarts", "u", "true", (api) => api.supervisor.activeStarts),
    property("QueuedStarts", "u", "true", (api) => api.supervisor.queuedStarts),
  ],
  signals: [signal("ContainerNew", "s id, o container"), signal("ContainerRemoved", "s id, o container")],
};
