// Package testee runs a client under test through the client contract
// (testees/CLIENT-CONTRACT.md): one process group per case with the
// SIOSPEC_* environment, its stdout read as JSON report lines, its output
// kept (truncated), and its end bounded (stdin closed, then SIGTERM, then
// SIGKILL to the whole group). Nothing here imports Ginkgo.
//
// # Lifecycle
//
// [Start] runs `sh -c CMD` in a process group of its own, with stdin a pipe
// that stays open until [Testee.Stop]. Three goroutines belong to a run: one
// drains stdout (splitting it into lines, at most 1 MiB each, and turning
// the JSON objects with a string "ev" into [Report]s), one drains stderr,
// and one waits for the process. When the process (the group leader) exits,
// whatever is left of its group is killed with SIGKILL before the leader is
// reaped (on Linux, where the exit can be observed without reaping, so the
// group id cannot have been reused), its output is drained, and
// [Testee.Exited] is closed. A fourth goroutine watches the context given
// to Start, when it can end, and stops the run when it does.
//
// [Testee.Stop] ends a run that is still going (close stdin, wait Grace,
// SIGTERM the group, wait Grace, SIGKILL the group) and waits for every
// goroutine of the run. It is idempotent and safe to call concurrently;
// every call returns the same [Exit]. Every other method is safe to call
// concurrently, before and after Stop.
//
// Memory is bounded whatever the testee prints: each stream keeps at most
// [Options.OutputLimit] bytes (its head and its tail), report lines are
// kept up to [Options.ReportLimit] bytes, and the pipes are always drained.
package testee
