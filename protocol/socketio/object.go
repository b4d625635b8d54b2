package socketio

// Member is one key/value pair of an Object.
type Member struct {
	Key   string
	Value any
}

// Object is a JSON object whose members keep the order they were added in.
// The value encoder writes them in that order, exactly as JavaScript writes
// an object's properties in insertion order. (JavaScript engines list
// array-index keys such as "1" first; Object does not reorder anything, so
// build it in the order Node would hold the keys when byte-identity with
// Node matters.)
//
// ParseJSON and Packet.Value return objects as Object values.
type Object []Member

// Get returns the value of key and whether it is present.
func (o Object) Get(key string) (any, bool) {
	for i := range o {
		if o[i].Key == key {
			return o[i].Value, true
		}
	}
	return nil, false
}

// Set replaces the value of key in place, or appends the member when key is
// new, as assigning to a JavaScript property does.
func (o *Object) Set(key string, v any) {
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Value = v
			return
		}
	}
	*o = append(*o, Member{Key: key, Value: v})
}

// Delete removes key if present.
func (o *Object) Delete(key string) {
	for i := range *o {
		if (*o)[i].Key == key {
			*o = append((*o)[:i], (*o)[i+1:]...)
			return
		}
	}
}

// Keys returns the keys in order.
func (o Object) Keys() []string {
	keys := make([]string, len(o))
	for i := range o {
		keys[i] = o[i].Key
	}
	return keys
}
