"""Who answers which chat: agent presence and capacity, queues by topic and language."""
