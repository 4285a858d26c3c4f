"""The AppSync resolver Lambda: every root Query/Mutation field of schema.graphql."""
