package authz

import (
	"reflect"
	"testing"
	"unsafe"
)

// pointerFree reports the first field path of t that holds a pointer the
// collector would have to follow ("" if none).
func pointerFree(t reflect.Type, path string) string {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return ""
	case reflect.Array:
		return pointerFree(t.Elem(), path+"[]")
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if p := pointerFree(f.Type, path+"."+f.Name); p != "" {
				return p
			}
		}
		return ""
	}
	return path + " (" + t.String() + ")"
}

// TestBlockElementsHoldNoPointers: a holder's block (holder.blk) is
// memory the collector does not scan — pointer-free words or an arena's
// bytes — so a pointer stored in a grant there would not keep its target
// alive, and the target would be freed and reused under a published
// snapshot. Every type stored in a block must stay pointer-free, and
// aligned so that the lists can follow each other in one block.
func TestBlockElementsHoldNoPointers(t *testing.T) {
	for _, v := range []any{sgrant{}, resGrant{}, sref{}} {
		typ := reflect.TypeOf(v)
		if p := pointerFree(typ, typ.Name()); p != "" {
			t.Errorf("%s holds a pointer at %s: it cannot live in a holder's block", typ, p)
		}
	}
	// The grants follow the resource grants in a block: the resource
	// grants' size must keep the grants aligned, and the block's 8-byte
	// alignment must suffice for both.
	if resGrantSize%unsafe.Alignof(sgrant{}) != 0 {
		t.Errorf("resGrant size %d does not keep sgrant (alignment %d) aligned", resGrantSize, unsafe.Alignof(sgrant{}))
	}
	for _, a := range []uintptr{unsafe.Alignof(sgrant{}), unsafe.Alignof(resGrant{})} {
		if 8%a != 0 {
			t.Errorf("alignment %d exceeds the block's 8", a)
		}
	}
}
