// Package testee runs siospec's reference clients (package
// reference/eioclient for the eio4 and eio3 suites, reference/sioclient for
// sio5 and sio4) as a testee of the client contract
// (testees/CLIENT-CONTRACT.md): it connects at once to the case's server,
// obeys the commands the server sends over the connection, and writes what
// the library surfaced as JSON report lines. `siospec testee` is this
// package behind the SIOSPEC_* environment.
//
// # Model
//
// [Run] validates the suite and case ([Options.Cases] decides which cases
// exist; anything else is exit 127), reports ready, connects, and returns
// when the exit command arrives (its code), when [Options.Stdin] reaches end
// of file or when ctx ends (0). Every report is one Write of one line on
// [Options.Stdout], never buffered.
//
// Engine.IO: messages "siospec:{...}" are commands; every other message is
// echoed back unchanged and reported. Socket.IO: the event "siospec" on any
// namespace is a command, acked {"ok":true} once carried out (or
// {"ok":false,"message":...}); other events are reported and, when the
// server asks for an ack, acked with the same arguments.
//
// # Ending like a process
//
// The contract ends a testee by exit or end of stdin, where a Node testee's
// process just dies. Run does the same to the wire: once it decided to end,
// it writes no more reports, cuts every TCP connection of the client and
// refuses new ones, and only then closes the client to release its
// goroutines, so no close packet, DISCONNECT or reconnection reaches the
// server after the exit. Run waits for every goroutine it started except
// the reader of Options.Stdin, which ends when Stdin does.
//
// # Deviations from the Node testees
//
//   - sio "close" is sioclient's Manager.Close: a DISCONNECT for every
//     connected namespace (reason "io client disconnect"), then the
//     Engine.IO close. The command's ack is sent before the close, since no
//     ack can travel after it.
//   - The exit command's ack is queued before the exit but not awaited
//     (eioclient has no drain signal); it may not reach the server.
//   - "connect" reports done once the CONNECT is sent, not once answered
//     (as Node's socket.connect()).
//   - Options the reference clients cannot honour (rememberUpgrade; on the
//     eio suites the Socket.IO options) are reported unsupported.
//   - The reconnection jitter draws from SIOSPEC_SEED.
package testee
