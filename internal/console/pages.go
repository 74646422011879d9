package console

// pageRoutes registers the org pages beyond the overview.
func (c *Console) pageRoutes() {}
