"""The learning loop: every answer kept (answers), customers' ratings (feedback), and the
questions the bot could not serve, grouped for an operator to teach the knowledge base."""
