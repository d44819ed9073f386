package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// volumeMeta is volumes/<id>/meta.json.
type volumeMeta struct {
	Name           string `json:"name"`
	CapacityBytes  int64  `json:"capacityBytes"`
	SourceSnapshot string `json:"sourceSnapshot,omitempty"`
	SourceVolume   string `json:"sourceVolume,omitempty"`
}

// snapshotMeta is snapshots/<id>/meta.json.
type snapshotMeta struct {
	Name           string `json:"name"`
	SourceVolumeID string `json:"sourceVolumeId"`
	CreationTime   int64  `json:"creationTimeUnixNano"`
	SizeBytes      int64  `json:"sizeBytes"`
	// GroupSnapshotID: the group snapshot it was cut in ("" = on its own).
	GroupSnapshotID string `json:"groupSnapshotId,omitempty"`
}

// store keeps volumes and snapshots as directories. One mutex serialises all
// changes: the sidecars call concurrently and the tests' volumes are small.
type store struct {
	mu   sync.Mutex
	root string
}

func openStore(root string) (*store, error) {
	for _, d := range []string{"volumes", "snapshots", "groups", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	return &store{root: root}, nil
}

// idFor derives a stable id from a request name, so a retried create (same
// name) finds what the first one made, whatever the name's length or bytes.
func idFor(prefix, name string) string {
	sum := sha256.Sum256([]byte(name))
	return prefix + hex.EncodeToString(sum[:])[:20]
}

func (s *store) volumeDir(id string) string   { return filepath.Join(s.root, "volumes", id) }
func (s *store) snapshotDir(id string) string { return filepath.Join(s.root, "snapshots", id) }

func validID(id string) bool { return id != "" && id != "." && id != ".." && filepath.Base(id) == id }

func readMeta(dir string, v any) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(b, v)
}

func (s *store) getVolume(id string) (*volumeMeta, error) {
	if !validID(id) {
		return nil, nil
	}
	var m volumeMeta
	ok, err := readMeta(s.volumeDir(id), &m)
	if !ok || err != nil {
		return nil, err
	}
	return &m, nil
}

func (s *store) getSnapshot(id string) (*snapshotMeta, error) {
	if !validID(id) {
		return nil, nil
	}
	var m snapshotMeta
	ok, err := readMeta(s.snapshotDir(id), &m)
	if !ok || err != nil {
		return nil, err
	}
	return &m, nil
}

// publish builds dir in tmp/ (data/ filled by fill, then meta.json) and
// renames it into place: a crash leaves no half-made volume or snapshot.
func (s *store) publish(final string, meta any, fill func(data string) error) error {
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	data := filepath.Join(tmp, "data")
	if err := os.Mkdir(data, 0o777); err != nil {
		return err
	}
	if err := os.Chmod(data, 0o777); err != nil { // any pod user may write (umask-free)
		return err
	}
	if fill != nil {
		if err := fill(data); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

func (s *store) createVolume(id string, m *volumeMeta, fromDir string) error {
	return s.publish(s.volumeDir(id), m, func(data string) error {
		if fromDir == "" {
			return nil
		}
		_, err := copyTree(fromDir, data)
		return err
	})
}

func (s *store) createSnapshot(id string, m *snapshotMeta) error {
	return s.publish(s.snapshotDir(id), m, func(data string) error {
		size, err := copyTree(filepath.Join(s.volumeDir(m.SourceVolumeID), "data"), data)
		m.SizeBytes = size
		m.CreationTime = time.Now().UnixNano()
		return err
	})
}

// remove deletes dir by renaming it away first, so a half-deleted directory
// never looks like a valid volume or snapshot.
func (s *store) remove(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	gone, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "gone-")
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(gone, "x")); err != nil {
		return err
	}
	return os.RemoveAll(gone)
}

type snapshotEntry struct {
	ID string
	snapshotMeta
}

// snapshots lists every snapshot, sorted by id (the order ListSnapshots pages in).
func (s *store) snapshots() ([]snapshotEntry, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "snapshots"))
	if err != nil {
		return nil, err
	}
	var out []snapshotEntry
	for _, e := range ents {
		m, err := s.getSnapshot(e.Name())
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, snapshotEntry{ID: e.Name(), snapshotMeta: *m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// copyTree copies regular files, directories and symlinks from src into the
// existing directory dst, keeping modes; it returns the bytes copied.
func copyTree(src, dst string) (int64, error) {
	var total int64
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(target, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			n, err := copyFile(path, target, info.Mode().Perm())
			total += n
			return err
		default:
			return fmt.Errorf("%s: cannot copy %s", path, d.Type())
		}
	})
	return total, err
}

func copyFile(src, dst string, mode fs.FileMode) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
