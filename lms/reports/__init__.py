"""The programme's figures, the organizers' dashboard and the lists behind its numbers."""
