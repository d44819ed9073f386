// Command backupns-csi is a small directory-backed CSI driver for the tests'
// real control plane tier: volumes and snapshots are directories under a
// state dir, a snapshot is a full copy of its volume, and a volume created
// from a snapshot starts as a copy of it. It serves the CSI Identity,
// Controller, GroupController and Node services on one unix socket (a group
// snapshot copies its volumes back to back under the store's one lock); the
// Node service bind-mounts a volume's directory (only csi-sanity calls it: the tier has
// no kubelet). It is checked against the CSI spec by the upstream csi-sanity
// suite (tests/realk8s/test_csi_sanity.py).
//
//	backupns-csi --endpoint unix:///tmp/x/csi.sock --state-dir /tmp/x/state
//
// State dir layout (the tests read it):
//
//	volumes/<volume id>/data/       the volume's contents
//	volumes/<volume id>/meta.json   name, capacity, content source
//	snapshots/<snapshot id>/data/   the copy taken at CreateSnapshot
//	snapshots/<snapshot id>/meta.json
//	groups/<group snapshot id>.json  name, source volumes, member snapshot ids
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
)

const (
	defaultDriverName = "backupns.csi.test"
	version           = "0.1.0"
)

func main() {
	endpoint := flag.String("endpoint", "", "unix socket to serve on: unix:///path/csi.sock or /path/csi.sock")
	stateDir := flag.String("state-dir", "", "directory holding volumes/ and snapshots/ (created if missing)")
	driverName := flag.String("driver-name", defaultDriverName, "CSI driver name (GetPluginInfo)")
	nodeID := flag.String("node-id", "backupns-csi-node", "node id reported by NodeGetInfo")
	flag.Parse()
	if *endpoint == "" || *stateDir == "" {
		fmt.Fprintln(os.Stderr, "backupns-csi: --endpoint and --state-dir are required")
		os.Exit(2)
	}
	store, err := openStore(*stateDir)
	if err != nil {
		log.Fatalf("backupns-csi: state dir %s: %v", *stateDir, err)
	}
	sock := strings.TrimPrefix(*endpoint, "unix://")
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		log.Fatalf("backupns-csi: %v", err)
	}
	_ = os.Remove(sock) // a stale socket of an earlier run
	lis, err := net.Listen("unix", sock)
	if err != nil {
		log.Fatalf("backupns-csi: listen on %s: %v", sock, err)
	}

	srv := grpc.NewServer(grpc.UnaryInterceptor(logCalls))
	csi.RegisterIdentityServer(srv, &identity{name: *driverName})
	csi.RegisterControllerServer(srv, &controller{store: store})
	csi.RegisterGroupControllerServer(srv, &groupController{store: store})
	csi.RegisterNodeServer(srv, &node{store: store, nodeID: *nodeID})

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		srv.GracefulStop()
	}()
	log.Printf("backupns-csi %s: driver %s serving on %s, state in %s", version, *driverName, sock, *stateDir)
	if err := srv.Serve(lis); err != nil {
		log.Fatalf("backupns-csi: %v", err)
	}
}
