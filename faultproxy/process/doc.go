// Package process is the process-level half of siospec's fault injection: a
// lifecycle controller for the program under test (a server the suites talk
// to, or a client they drive) and the process faults of the catalogue in
// faults-and-harnesses.md C1 (process_kill, process_restart, process_pause).
//
// # Model
//
// A [Process] is created stopped from a [Spec] (program, arguments,
// environment, directory) and [Options]. [Process.Start] executes the program
// in a process group of its own (Setpgid) with stdin from /dev/null and its
// stdout and stderr captured, and returns once the [ReadyCheck] passes: a
// stdout line matching a regexp (whose capture group gives [Process.URL] and
// [Process.Addr], e.g. `^listening (http://\S+)` for siospec's Node fixtures),
// then a TCP connect, then an HTTP GET answering an expected status, in that
// order for the ones that are set. A program that exits before it is ready
// yields an *[ExitedError] with its exit status and last output lines; one
// that is not ready in time yields a *[NotReadyError] and is stopped.
//
// Every signal goes to the whole process group, so the children of `sh -c`
// or `npm start` receive it too, and nothing else: the controller signals
// only groups it created, and only while their leader is unreaped (Linux
// observes the exit with waitid(WNOWAIT), so the group id cannot have been
// reused). When the leader exits, whatever is left in its group is killed
// with SIGKILL so that no straggler holds the port across a restart.
//
// [Process.Kill] sends any signal; [Process.Stop] sends [Options.StopSignal]
// (SIGTERM), waits [Options.StopTimeout] and escalates to SIGKILL;
// [Process.Restart] stops, waits a downtime and starts again with the same
// spec (pass a fixed port, see [FreePort], to come back on the same
// address); [Process.Pause] and [Process.Resume] send SIGSTOP and SIGCONT,
// which leaves the program's sockets open but unanswered (a hung server, the
// analogue of Pumba's container pause). [Process.Wait] and
// [Process.ExitStatus] report how a run ended; [Process.Output] returns the
// last [Options.OutputLimit] bytes of each stream over all runs.
//
// # Faults
//
// [Crash] (kill with a signal, optionally restart after a downtime) and
// [Freeze] (pause for a duration) are [Fault] values. [Process.Inject] applies
// a list of them at fixed offsets, one at a time, in a deterministic order;
// a caller such as the fault proxy or a `server-crash` profile can also call
// a fault's Apply itself. Nothing here draws random numbers.
//
// # Decision log
//
// Every action is an [Event] in a bounded log ([Process.Events],
// [Options.OnEvent]): start, ready, not_ready, kill, stop, escalate, exit,
// restart, pause, resume, and fault (a fault firing, with its parameters).
// Events share the JSON field names of the fault proxy's decision log
// (faultproxy.Decision: seq, time, elapsed_ns, fault, step, action, detail),
// with run and pid instead of conn and direction. Step numbers events within
// one Fault name, so compare logs by (Fault, Step, Action), not by time.
//
// # Concurrency
//
// All methods of [Process] are safe for concurrent use. Start, Stop,
// Restart, fault application and Close are serialised; Kill, Pause and
// Resume act at once. The program outlives the context given to Start; end
// it with Stop or Close. [Process.Close] stops the program, aborts a Start
// or Restart in progress, waits for every goroutine the Process started and
// is idempotent.
//
// The package targets Unix; the group sweep after the leader's exit needs
// Linux.
package process
