/**
 * Changing a Swarm service and waiting for Swarm to carry the change out. Every change is a
 * service update of the version read (so a concurrent change is refused, not overwritten); Swarm
 * then replaces tasks following the service's own update_config (order, parallelism, monitor,
 * failure_action). The wait ends when the update completed and each wanted slot runs a task
 * started after the change, or when Swarm paused or rolled the update back.
 */
import { engineErrorText, engineStatusCode } from '../../kit/docker-engine.js';
import { StackError } from '../stack.js';
import { seconds } from '../docker/context.js';
import { sleep, type SwarmContext } from './context.js';
import { callManager, desiredReplicas, hasHealthcheck, readService, serviceTasks, type StackService, type SwarmServiceInfo, type SwarmServiceSpec } from './services.js';
import { currentSlots, taskTrouble, type SlotTasks } from './tasks.js';

/** Writes the spec `change` makes of the current one, at the version it was read at. */
export async function updateService(
  context: SwarmContext,
  service: StackService,
  change: (spec: SwarmServiceSpec) => SwarmServiceSpec,
  notDone: string[],
): Promise<SwarmServiceInfo> {
  const current = await readService(context, service);
  try {
    await callManager(
      context,
      // _query/_body: docker-modem would otherwise put the whole spec into the query string too.
      () => context.docker.getService(current.ID).update({ _query: { version: current.Version.Index }, _body: change(structuredClone(current.Spec)) }),
      notDone,
    );
  } catch (error) {
    if (error instanceof StackError) throw error;
    const text = engineErrorText(error);
    if (engineStatusCode(error) === 500 && /update out of sequence/i.test(text)) {
      throw new StackError('BUSY', `${service.info.Spec.Name} was changed by someone else while this was prepared (${text}); look at it again, then retry`, { notDone, cause: error });
    }
    throw new StackError('PARTIAL', `Swarm refused to update ${service.info.Spec.Name}: ${text}`, { notDone, cause: error });
  }
  return current;
}

/** Update states in which Swarm gave up on the change (paused it, or rolled it back). */
const GAVE_UP = new Set(['paused', 'rollback_started', 'rollback_paused', 'rollback_completed']);
const ENDED_STATES = new Set(['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove']);

export interface ConvergeOptions {
  /** Tasks that must be gone: a slot still running one of them has not been replaced yet. */
  replacing?: ReadonlySet<string>;
  /** Whether Swarm runs an update (a new task spec) that must reach `completed`. */
  expectUpdate: boolean;
  timeoutMs: number;
  /** What the caller is doing, for messages: `restarting acgs_web`. */
  doing: string;
}

/** Waits until the service runs its wanted replicas, all started and healthy (or gone, at 0). */
export async function waitForConvergence(context: SwarmContext, service: StackService, options: ConvergeOptions): Promise<{ info: SwarmServiceInfo; slots: SlotTasks[] }> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'nothing read yet';
  for (;;) {
    const info = await readService(context, service);
    const wanted = desiredReplicas(info);
    const tasks = await serviceTasks(context, info.ID);
    const slots = currentSlots(tasks);
    const update = info.UpdateStatus?.State;
    if (update && GAVE_UP.has(update)) {
      const why = info.UpdateStatus?.Message ? `: ${info.UpdateStatus.Message}` : '';
      throw new StackError('UNHEALTHY', `Swarm gave up ${options.doing} (update ${update.replace('_', ' ')}${why})`);
    }
    const running = slots.filter((slot) => slot.current.Status.State === 'running' && !options.replacing?.has(slot.current.ID));
    // A task Swarm is shutting down (scaled away, replaced, stopped) has not ended until its state says so.
    const stopping = tasks.filter((task) => (task.DesiredState === 'shutdown' || task.DesiredState === 'remove') && !ENDED_STATES.has(task.Status.State));
    const updateDone = !options.expectUpdate || update === 'completed';
    const countDone = wanted === undefined ? running.length === slots.length : running.length === wanted && slots.length === wanted;
    if (updateDone && countDone && stopping.length === 0) return { info, slots };
    const troubled = slots.filter((slot) => !['running', 'starting', 'new', 'pending', 'assigned', 'accepted', 'preparing', 'ready'].includes(slot.current.Status.State));
    last =
      `${running.length} of ${wanted ?? slots.length} replica(s) running${hasHealthcheck(info) ? ' and healthy' : ''}` +
      (update ? `, update ${update}` : '') +
      (stopping.length > 0 ? `, ${stopping.length} task(s) still stopping` : '') +
      (troubled.length > 0 ? `; ${troubled.map((slot) => taskTrouble(slot.current)).join('; ')}` : '');
    if (Date.now() >= deadline) throw new StackError('TIMEOUT', `Swarm did not finish ${options.doing} within ${seconds(options.timeoutMs)} (${last})`);
    await sleep(Math.min(context.pollMs, Math.max(0, deadline - Date.now())));
  }
}
