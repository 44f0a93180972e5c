"""mrs.data — catalog, judgment and engagement readers, relevance-level schemes, query-level splits."""
