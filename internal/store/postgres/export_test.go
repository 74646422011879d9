package postgres

// ListenerPID is the backend pid of the store's listening connection, 0
// while it is disconnected.
func (s *Store) ListenerPID() uint32 { return s.b.listenPID.Load() }
