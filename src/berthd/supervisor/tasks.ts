// The typed tasks operations and watchers hand to the supervisor's apply(): the only changes to
// container state there are. Each names the Container object it is about, so a task for a container
// that was deleted (and perhaps re-created under the same id) is recognised and dropped.

import type { Micros } from "../../common/types.js";
import type { ExitStatus } from "../state/exit.js";
import type { Container, ExecProcess } from "./container.js";

export type Task =
  /** `silent`: recovered at start; the API layer exports list() itself, so no container-new. */
  | { kind: "container-added"; container: Container; silent: boolean }
  | { kind: "container-started"; container: Container; startedAt: Micros }
  | { kind: "container-paused"; container: Container }
  | { kind: "container-resumed"; container: Container }
  | { kind: "container-oom"; container: Container }
  | { kind: "container-exited"; container: Container; exit: ExitStatus }
  | { kind: "container-removed"; container: Container }
  | { kind: "process-added"; container: Container; process: ExecProcess; silent: boolean }
  | { kind: "process-exited"; container: Container; process: ExecProcess; exit: ExitStatus }
  | { kind: "process-removed"; container: Container; process: ExecProcess };
