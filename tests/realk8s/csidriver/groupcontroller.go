package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// groupMeta is groups/<group snapshot id>.json.
type groupMeta struct {
	Name            string   `json:"name"`
	SourceVolumeIDs []string `json:"sourceVolumeIds"`
	SnapshotIDs     []string `json:"snapshotIds"`
	CreationTime    int64    `json:"creationTimeUnixNano"`
}

// groupController serves the CSI GroupController service: a group snapshot is
// one snapshot per volume, all copied while the store's lock is held (nothing
// of this driver writes a volume in between), with one creation time.
type groupController struct {
	csi.UnimplementedGroupControllerServer
	store *store
}

func (g *groupController) GroupControllerGetCapabilities(context.Context, *csi.GroupControllerGetCapabilitiesRequest) (*csi.GroupControllerGetCapabilitiesResponse, error) {
	return &csi.GroupControllerGetCapabilitiesResponse{Capabilities: []*csi.GroupControllerServiceCapability{{
		Type: &csi.GroupControllerServiceCapability_Rpc{Rpc: &csi.GroupControllerServiceCapability_RPC{
			Type: csi.GroupControllerServiceCapability_RPC_CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT,
		}},
	}}}, nil
}

func (s *store) groupFile(id string) string { return filepath.Join(s.root, "groups", id+".json") }

func (s *store) getGroup(id string) (*groupMeta, error) {
	if !validID(id) {
		return nil, nil
	}
	b, err := os.ReadFile(s.groupFile(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m groupMeta
	return &m, json.Unmarshal(b, &m)
}

// putGroup writes the group's file via a rename (all or nothing).
func (s *store) putGroup(id string, m *groupMeta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "group-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.groupFile(id))
}

func (g *groupController) response(id string, m *groupMeta) (*csi.VolumeGroupSnapshot, error) {
	out := &csi.VolumeGroupSnapshot{
		GroupSnapshotId: id,
		CreationTime:    timestamppb.New(time.Unix(0, m.CreationTime)),
		ReadyToUse:      true,
	}
	for _, sid := range m.SnapshotIDs {
		snap, err := g.store.getSnapshot(sid)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if snap == nil {
			return nil, status.Errorf(codes.Internal, "snapshot %q of group snapshot %q is gone", sid, id)
		}
		out.Snapshots = append(out.Snapshots, snapshotInfo(sid, snap))
	}
	return out, nil
}

func (g *groupController) CreateVolumeGroupSnapshot(_ context.Context, req *csi.CreateVolumeGroupSnapshotRequest) (*csi.CreateVolumeGroupSnapshotResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if len(req.GetSourceVolumeIds()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "source volume ids are required")
	}
	g.store.mu.Lock()
	defer g.store.mu.Unlock()
	id := idFor("group-", req.GetName())
	have, err := g.store.getGroup(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if have != nil {
		if !slices.Equal(have.SourceVolumeIDs, req.GetSourceVolumeIds()) {
			return nil, status.Errorf(codes.AlreadyExists, "group snapshot %q exists for other source volumes", req.GetName())
		}
		vgs, err := g.response(id, have)
		return &csi.CreateVolumeGroupSnapshotResponse{GroupSnapshot: vgs}, err
	}
	for _, vid := range req.GetSourceVolumeIds() {
		vol, err := g.store.getVolume(vid)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if vol == nil {
			return nil, status.Errorf(codes.NotFound, "source volume %q not found", vid)
		}
	}
	m := &groupMeta{Name: req.GetName(), SourceVolumeIDs: req.GetSourceVolumeIds(), CreationTime: time.Now().UnixNano()}
	for _, vid := range req.GetSourceVolumeIds() {
		sid := idFor("snap-", req.GetName()+"\x00"+vid)
		snap := &snapshotMeta{Name: req.GetName() + "/" + vid, SourceVolumeID: vid, GroupSnapshotID: id}
		if err := g.store.createSnapshot(sid, snap); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		m.SnapshotIDs = append(m.SnapshotIDs, sid)
	}
	// One instant for all: the creation time taken before the first copy.
	for _, sid := range m.SnapshotIDs {
		snap, err := g.store.getSnapshot(sid)
		if err != nil || snap == nil {
			return nil, status.Errorf(codes.Internal, "snapshot %q: %v", sid, err)
		}
		snap.CreationTime = m.CreationTime
		b, err := json.MarshalIndent(snap, "", "  ")
		if err == nil {
			err = os.WriteFile(filepath.Join(g.store.snapshotDir(sid), "meta.json"), append(b, '\n'), 0o644)
		}
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	if err := g.store.putGroup(id, m); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	vgs, err := g.response(id, m)
	return &csi.CreateVolumeGroupSnapshotResponse{GroupSnapshot: vgs}, err
}

// checkMembers: the snapshot ids a CO names must be the group's (when it names any).
func checkMembers(id string, m *groupMeta, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	want, got := slices.Clone(m.SnapshotIDs), slices.Clone(ids)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return status.Errorf(codes.InvalidArgument, "snapshot ids %v are not those of group snapshot %q", ids, id)
	}
	return nil
}

// lookup reads group snapshot id (the caller holds the store's lock) and checks the
// snapshot ids the CO names; nil when there is no such group snapshot.
func (g *groupController) lookup(id string, snapshotIDs []string) (*groupMeta, error) {
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "group snapshot id is required")
	}
	m, err := g.store.getGroup(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if m == nil {
		return nil, nil
	}
	return m, checkMembers(id, m, snapshotIDs)
}

func (g *groupController) DeleteVolumeGroupSnapshot(_ context.Context, req *csi.DeleteVolumeGroupSnapshotRequest) (*csi.DeleteVolumeGroupSnapshotResponse, error) {
	g.store.mu.Lock()
	defer g.store.mu.Unlock()
	id := req.GetGroupSnapshotId()
	m, err := g.lookup(id, req.GetSnapshotIds())
	if err != nil || m == nil { // m == nil: gone already, a success
		return &csi.DeleteVolumeGroupSnapshotResponse{}, err
	}
	for _, sid := range m.SnapshotIDs {
		if err := g.store.remove(g.store.snapshotDir(sid)); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	if err := os.Remove(g.store.groupFile(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteVolumeGroupSnapshotResponse{}, nil
}

func (g *groupController) GetVolumeGroupSnapshot(_ context.Context, req *csi.GetVolumeGroupSnapshotRequest) (*csi.GetVolumeGroupSnapshotResponse, error) {
	g.store.mu.Lock()
	defer g.store.mu.Unlock()
	id := req.GetGroupSnapshotId()
	m, err := g.lookup(id, req.GetSnapshotIds())
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, status.Errorf(codes.NotFound, "group snapshot %q not found", id)
	}
	vgs, err := g.response(id, m)
	return &csi.GetVolumeGroupSnapshotResponse{GroupSnapshot: vgs}, err
}
