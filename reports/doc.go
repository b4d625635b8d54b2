// Package reports turns one siospec run into the files people and CI read.
//
// The input is the [types.Report] Ginkgo produces for a run of the
// conformance suites plus the run's metadata ([Meta]); [FromGinkgo] maps every
// spec to a requirement ID and an [Outcome] and returns the versioned model
// [Report] (schema "siospec.report/v1", documented field by field in
// SCHEMA.md). [Report.WriteFiles] renders it as:
//
//   - report.json, the model itself, read back with [Load];
//   - junit.xml for CI test tabs (MUST failures are <failure>, harness
//     problems <error>, unsupported and skipped specs <skipped>);
//   - summary.md, a Markdown job summary (GitHub step summaries);
//   - index.html, one self-contained page with a filterable requirement
//     table and, for every failure, the expectation, the observation and the
//     decoded wire transcript.
//
// # What specs provide
//
// Specs label themselves (req:ID, level:L, proto:P, transport:T, area:A,
// role:R, fault:NAME) and add string report entries: [EntryExpected],
// [EntryObserved], [EntryBudget], [EntryMeasured] and [EntryTranscript], the
// last holding [EncodeTranscript] of the spec's []TranscriptEvent (raw bytes
// capped with [CapData]). A spec that lacks an optional feature of the target
// calls Skip with [UnsupportedPrefix]; a failure of siospec itself starts its
// message with [HarnessErrorPrefix].
//
// [Compare] diffs two reports (newly failing, newly passing, changed
// outcomes) so that CI can gate on "no new failures".
//
// # Outcomes
//
// The mapping from Ginkgo's spec state to an outcome is the contract between
// the suites and this package:
//
//   - passed: pass;
//   - skipped with a message starting "unsupported:": unsupported;
//   - skipped otherwise, pending or filtered out: skipped;
//   - failed with a message starting "harness-error:", panicked, aborted or
//     interrupted: harness-error (never counted against the target);
//   - failed or timed out otherwise: fail for level MUST (and for a spec that
//     carries no level label), non-strict for SHOULD and NODE unless the run
//     is strict (then fail), non-strict for MAY and EDGE always.
//
// A failure whose requirement ID is listed in the run's expected failures
// keeps its outcome but is flagged expected and does not gate; a listed ID
// whose spec passed is flagged as an unexpected pass.
//
// # Imports and concurrency
//
// The package uses only the standard library and
// github.com/onsi/ginkgo/v2/types, so it can be used by tools that never run
// Ginkgo. It has no global state; a [Report] is a plain value that is not
// safe for concurrent mutation, but concurrent reads are fine.
package reports
