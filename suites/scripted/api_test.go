package scripted

import (
	"context"
	"net/http"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// The API the specs are written against, fixed by the integrator: these
// assignments stop compiling if a signature drifts.
var (
	_ func(context.Context, *Options) (*Server, error)                            = Start
	_ func(*Server) string                                                        = (*Server).URL
	_ func(*Server, context.Context) (*Session, error)                            = (*Server).NextSession
	_ func(*Server) []Request                                                     = (*Server).Requests
	_ func(*Server) error                                                         = (*Server).Stop
	_ func(*Server, context.Context) error                                        = (*Server).Restart
	_ func(*Server) error                                                         = (*Server).Close
	_ func(*Session) string                                                       = (*Session).ID
	_ func(*Session) string                                                       = (*Session).Transport
	_ func(*Session) Request                                                      = (*Session).Handshake
	_ func(*Session, context.Context) (Received, error)                           = (*Session).Recv
	_ func(*Session, ...engineio.Packet) error                                    = (*Session).Send
	_ func(*Session, []byte, bool) error                                          = (*Session).SendRaw
	_ func(*Session)                                                              = (*Session).StopPings
	_ func(*Session)                                                              = (*Session).Silence
	_ func(*Session)                                                              = (*Session).CloseTransport
	_ func(*Session)                                                              = (*Session).Forget
	_ func(*Session)                                                              = (*Session).Close
	_ func(*Session) <-chan struct{}                                              = (*Session).Done
	_ func(*Session) string                                                       = (*Session).Reason
	_ func(*Session, socketio.Version) *SIO                                       = NewSIO
	_ func(*SIO) *Session                                                         = (*SIO).Session
	_ func(*SIO, context.Context) (SIOReceived, error)                            = (*SIO).Recv
	_ func(*SIO, socketio.Packet) error                                           = (*SIO).Send
	_ func(*SIO, context.Context, string) (socketio.Packet, []SIOReceived, error) = (*SIO).Accept
	_ func(*SIO, context.Context, string, map[string]any) error                   = (*SIO).Command
	_ func(*Session, map[string]any) error                                        = EIOCommand
	_ error                                                                       = ErrSessionClosed
	_ Recorder                                                                    = (*testRecorder)(nil)
	_ http.Header                                                                 = Request{}.Header
	_                                                                             = Options{EIO: 4, Path: "", PingInterval: 0, PingTimeout: 0, MaxPayload: 0, Upgrades: nil, Open: nil, OpenJSON: nil, Upgrade: UpgradeAccept, UpgradeStatus: 0, NoPings: false, Recorder: nil, Logger: nil}
	_                                                                             = Received{Packet: engineio.Packet{}, Transport: "", At: Request{}.Started}
	_                                                                             = SIOReceived{Packet: socketio.Packet{}, At: Request{}.Started}
	_                                                                             = []UpgradeMode{UpgradeAccept, UpgradeRefuse, UpgradeStrip, UpgradeStall, UpgradeNoProbe}
)
