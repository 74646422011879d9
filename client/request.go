package client

import (
	"github.com/gatehouse-dev/gatehouse/api"
	"strconv"
)

// ListOptions select a page. The zero value asks for the first page of the
// server's default size (100).
type ListOptions struct {
	PageSize int    // 1 to 1000; 0 means the server's default
	Cursor   string // NextCursor of the previous page
}

func (o *ListOptions) values() map[string][]string {
	q := map[string][]string{}
	if o == nil {
		return q
	}
	if o.PageSize > 0 {
		q["page_size"] = []string{strconv.Itoa(o.PageSize)}
	}
	if o.Cursor != "" {
		q["cursor"] = []string{o.Cursor}
	}
	return q
}

// written is the answer of a write that returns what it wrote.
type written[T any] = api.Written[T]

// revision is the answer of a write that returns nothing else.
type revision = api.Revision

// roleBody is RoleSpec without its name (the name is in the path).
type roleBody = api.RoleBody

// BindingFilter narrows ListBindings; zero fields match everything.
type BindingFilter struct {
	Principal string
	Role      string
	Namespace string
}

// ResourceFilter narrows ListResources.
type ResourceFilter struct {
	Namespace string
	Type      string
}

// --- decisions

// MaxBatch is the most checks one Checks call takes.
const MaxBatch = api.MaxBatch

type batchBody = api.BatchCheckRequest
