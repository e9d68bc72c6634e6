package sqlite

import "context"

// PruneForgotten lets tests prune the forgotten table without waiting for
// Listen's minute.
func (s *Store) PruneForgotten(ctx context.Context) error { return s.pruneForgotten(ctx) }
