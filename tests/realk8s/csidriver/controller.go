package main

import (
	"context"
	"log"
	"path/filepath"
	"strconv"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type controller struct {
	csi.UnimplementedControllerServer
	store *store
}

func (c *controller) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t},
		}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// checkCapabilities accepts filesystem (mount) volumes in any access mode: a
// directory can be shared; raw block is not something a directory can be.
func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	for _, c := range caps {
		if c.GetMount() == nil {
			return status.Error(codes.InvalidArgument, "only mount (filesystem) volumes are supported, not block")
		}
		if c.GetAccessMode() == nil {
			return status.Error(codes.InvalidArgument, "volume capability without an access mode")
		}
	}
	return nil
}

func (c *controller) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	capacity := req.GetCapacityRange().GetRequiredBytes()
	if limit := req.GetCapacityRange().GetLimitBytes(); limit > 0 && (capacity == 0 || capacity > limit) {
		if capacity > limit {
			return nil, status.Errorf(codes.OutOfRange, "required bytes %d exceed limit bytes %d", capacity, limit)
		}
		capacity = limit
	}
	want := &volumeMeta{Name: req.GetName(), CapacityBytes: capacity}
	if src := req.GetVolumeContentSource(); src != nil {
		want.SourceSnapshot = src.GetSnapshot().GetSnapshotId()
		want.SourceVolume = src.GetVolume().GetVolumeId()
	}

	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	id := idFor("vol-", req.GetName())
	have, err := c.store.getVolume(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if have != nil {
		if *have != *want {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists with a different capacity or source", req.GetName())
		}
		return volumeResponse(id, have, req.GetVolumeContentSource()), nil
	}
	from := ""
	switch {
	case want.SourceSnapshot != "":
		snap, err := c.store.getSnapshot(want.SourceSnapshot)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if snap == nil {
			return nil, status.Errorf(codes.NotFound, "source snapshot %q not found", want.SourceSnapshot)
		}
		if capacity > 0 && snap.SizeBytes > capacity {
			return nil, status.Errorf(codes.OutOfRange, "snapshot %q holds %d bytes, more than the %d requested", want.SourceSnapshot, snap.SizeBytes, capacity)
		}
		from = filepath.Join(c.store.snapshotDir(want.SourceSnapshot), "data")
	case want.SourceVolume != "":
		vol, err := c.store.getVolume(want.SourceVolume)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if vol == nil {
			return nil, status.Errorf(codes.NotFound, "source volume %q not found", want.SourceVolume)
		}
		from = filepath.Join(c.store.volumeDir(want.SourceVolume), "data")
	}
	if err := c.store.createVolume(id, want, from); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return volumeResponse(id, want, req.GetVolumeContentSource()), nil
}

func volumeResponse(id string, m *volumeMeta, src *csi.VolumeContentSource) *csi.CreateVolumeResponse {
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:      id,
		CapacityBytes: m.CapacityBytes,
		ContentSource: src,
	}}
}

func (c *controller) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is required")
	}
	if !validID(req.GetVolumeId()) {
		return &csi.DeleteVolumeResponse{}, nil // no such volume: deleted already
	}
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	if err := c.store.remove(c.store.volumeDir(req.GetVolumeId())); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (c *controller) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is required")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	c.store.mu.Lock()
	vol, err := c.store.getVolume(req.GetVolumeId())
	c.store.mu.Unlock()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if vol == nil {
		return nil, status.Errorf(codes.NotFound, "volume %q not found", req.GetVolumeId())
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

func (c *controller) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "source volume id is required")
	}
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	id := idFor("snap-", req.GetName())
	have, err := c.store.getSnapshot(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if have != nil {
		if have.SourceVolumeID != req.GetSourceVolumeId() {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists for another source volume", req.GetName())
		}
		return &csi.CreateSnapshotResponse{Snapshot: snapshotInfo(id, have)}, nil
	}
	vol, err := c.store.getVolume(req.GetSourceVolumeId())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if vol == nil {
		return nil, status.Errorf(codes.NotFound, "source volume %q not found", req.GetSourceVolumeId())
	}
	m := &snapshotMeta{Name: req.GetName(), SourceVolumeID: req.GetSourceVolumeId()}
	if err := c.store.createSnapshot(id, m); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.CreateSnapshotResponse{Snapshot: snapshotInfo(id, m)}, nil
}

func snapshotInfo(id string, m *snapshotMeta) *csi.Snapshot {
	sec, nsec := m.CreationTime/1e9, m.CreationTime%1e9
	return &csi.Snapshot{
		SnapshotId:      id,
		SourceVolumeId:  m.SourceVolumeID,
		SizeBytes:       m.SizeBytes,
		CreationTime:    &timestamppb.Timestamp{Seconds: sec, Nanos: int32(nsec)},
		ReadyToUse:      true, // the copy is complete when CreateSnapshot returns
		GroupSnapshotId: m.GroupSnapshotID,
	}
}

func (c *controller) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if req.GetSnapshotId() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot id is required")
	}
	if !validID(req.GetSnapshotId()) {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	if err := c.store.remove(c.store.snapshotDir(req.GetSnapshotId())); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots filters by snapshot id or source volume id and pages by
// position in id order; the token is the index of the next entry.
func (c *controller) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, status.Error(codes.InvalidArgument, "max_entries must not be negative")
	}
	c.store.mu.Lock()
	all, err := c.store.snapshots()
	c.store.mu.Unlock()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	var match []snapshotEntry
	for _, s := range all {
		if (req.GetSnapshotId() == "" || s.ID == req.GetSnapshotId()) &&
			(req.GetSourceVolumeId() == "" || s.SourceVolumeID == req.GetSourceVolumeId()) {
			match = append(match, s)
		}
	}
	start := 0
	if tok := req.GetStartingToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(match) {
			return nil, status.Errorf(codes.Aborted, "invalid starting token %q", tok)
		}
		start = n
	}
	end := len(match)
	if m := int(req.GetMaxEntries()); m > 0 && start+m < end {
		end = start + m
	}
	resp := &csi.ListSnapshotsResponse{}
	for i := start; i < end; i++ {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: snapshotInfo(match[i].ID, &match[i].snapshotMeta)})
	}
	if end < len(match) {
		resp.NextToken = strconv.Itoa(end)
	}
	return resp, nil
}

// logCalls logs each call and its outcome (one line), for the fixture's logs.
func logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	log.Printf("%s: %v", info.FullMethod, status.Code(err))
	return resp, err
}
