package process_test

import (
	"context"
	"fmt"
	"log"
	"regexp"
	"strconv"
	"time"

	"github.com/siospec/siospec/faultproxy/process"
)

// A server-crash scenario: run a Node fixture on a fixed port, wait for its
// "listening" line and an Engine.IO handshake, then crash it with SIGKILL
// two seconds in and bring it back on the same port half a second later.
func Example_serverCrash() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	port, err := process.FreePort()
	if err != nil {
		log.Fatal(err)
	}
	p, err := process.New(process.Spec{
		Path: "node",
		Args: []string{"testees/node/fixtures/sio5.js", "--port", strconv.Itoa(port)},
	}, &process.Options{
		Ready: process.ReadyCheck{
			StdoutLine: regexp.MustCompile(`^listening (http://\S+)`),
			HTTP:       "/socket.io/?EIO=4&transport=polling",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(ctx); err != nil {
		log.Fatal(err) // an *ExitedError or *NotReadyError says why, with output
	}
	fmt.Println("server at", p.URL())

	// ... open sessions against p.URL() ...
	err = p.Inject(ctx, process.Crash{After: 2 * time.Second, Restart: true, Downtime: 500 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	events, _ := p.Events()
	for _, e := range events {
		fmt.Println(e) // "+2.003s run=1 pid=4242 process_restart#2 kill SIGKILL", ...
	}
}
