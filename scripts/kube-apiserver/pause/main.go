// The pod sandbox's pause process: holds the pod's namespaces and does nothing until it is told to stop (the
// Kubernetes pause image's job, built here with the cluster's binaries instead of pulled).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
