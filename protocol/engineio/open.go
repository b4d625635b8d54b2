package engineio

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// OpenPacket is the handshake data the server sends in the open packet
// (EIO-HS-02).
type OpenPacket struct {
	// SID is the session id.
	SID string
	// Upgrades lists the transports the session may upgrade to.
	Upgrades []string
	// PingInterval and PingTimeout are the heartbeat timings, written on
	// the wire as integer milliseconds.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// MaxPayload is the largest POST body the server accepts, in bytes.
	MaxPayload int64
	// OmitMaxPayload leaves maxPayload out of the encoding, as servers
	// older than engine.io 6.2 did (EIO-HS-11). ParseOpen sets it when the
	// key is absent.
	OmitMaxPayload bool
	// Keys lists the JSON keys in the order they were received. It is set
	// by ParseOpen and ignored when encoding.
	Keys []string
}

// AppendJSON appends the JSON object of o with exactly the keys sid,
// upgrades, pingInterval, pingTimeout and maxPayload, in that order, as
// Node writes them.
func (o OpenPacket) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"sid":`...)
	dst = appendJSONString(dst, o.SID)
	dst = append(dst, `,"upgrades":[`...)
	for i, u := range o.Upgrades {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, u)
	}
	dst = append(dst, `],"pingInterval":`...)
	dst = strconv.AppendInt(dst, o.PingInterval.Milliseconds(), 10)
	dst = append(dst, `,"pingTimeout":`...)
	dst = strconv.AppendInt(dst, o.PingTimeout.Milliseconds(), 10)
	if !o.OmitMaxPayload {
		dst = append(dst, `,"maxPayload":`...)
		dst = strconv.AppendInt(dst, o.MaxPayload, 10)
	}
	return append(dst, '}')
}

// Packet returns the open packet carrying o.
func (o OpenPacket) Packet() Packet {
	return Packet{Type: Open, Data: o.AppendJSON(nil)}
}

// maxMillis is the largest millisecond count a time.Duration holds.
const maxMillis = int64(1<<63-1) / int64(time.Millisecond)

// ParseOpen decodes the JSON data of an open packet. It tolerates unknown
// keys and a missing maxPayload (EIO-HS-11) and requires sid (a non-empty
// string), upgrades (an array of strings) and pingInterval and pingTimeout
// (non-negative integers of milliseconds that fit a time.Duration). The
// error is a *DecodeError wrapping ErrBadOpenPacket, at offset 0.
func ParseOpen(data []byte) (OpenPacket, error) {
	var o OpenPacket
	fail := func(reason string) (OpenPacket, error) {
		return OpenPacket{}, decodeErr(0, ErrBadOpenPacket, reason)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return fail("open packet data is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("invalid JSON: " + err.Error())
		}
		key := tok.(string)
		if seen[key] {
			return fail("duplicate key " + strconv.Quote(key))
		}
		seen[key] = true
		o.Keys = append(o.Keys, key)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail("invalid JSON: " + err.Error())
		}
		switch key {
		case "sid":
			if err := json.Unmarshal(raw, &o.SID); err != nil || o.SID == "" {
				return fail("sid is not a non-empty string")
			}
		case "upgrades":
			if err := json.Unmarshal(raw, &o.Upgrades); err != nil || raw[0] != '[' {
				return fail("upgrades is not an array of strings")
			}
		case "pingInterval", "pingTimeout", "maxPayload":
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil || n < 0 {
				return fail(key + " is not a non-negative integer")
			}
			if key != "maxPayload" && n > maxMillis {
				return fail(key + " is too large")
			}
			switch key {
			case "pingInterval":
				o.PingInterval = time.Duration(n) * time.Millisecond
			case "pingTimeout":
				o.PingTimeout = time.Duration(n) * time.Millisecond
			default:
				o.MaxPayload = n
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail("invalid JSON: " + err.Error())
	}
	if dec.More() {
		return fail("trailing data after the JSON object")
	}
	for _, k := range []string{"sid", "upgrades", "pingInterval", "pingTimeout"} {
		if !seen[k] {
			return fail("missing key " + strconv.Quote(k))
		}
	}
	if o.Upgrades == nil {
		o.Upgrades = []string{}
	}
	o.OmitMaxPayload = !seen["maxPayload"]
	return o, nil
}
