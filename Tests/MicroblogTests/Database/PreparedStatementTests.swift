import Testing
@testable import Microblog

@Suite("PostgreSQL: the pages' prepared statements")
struct PreparedStatementTests {
    static let positions: [PagePosition] = [.newest, .olderThan(postID: 7), .newerThan(postID: 7)]

    @Test("Each way into a page runs the prepared statement whose text the store builds for that way")
    func shapesMatchTheirQueries() {
        for position in Self.positions {
            #expect(
                PreparedStatements.userPage(position).sql
                    == PostgresStore.userPageQuery(usernameKey: IdentityKey("alice"), position: position, perPage: 20).sql,
                "\(position)"
            )
            for author in [nil, 3] as [Int64?] {
                #expect(
                    PreparedStatements.feed(byAuthor: author, position).sql
                        == PostgresStore.feedQuery(authorID: author, position: position, perPage: 20).sql,
                    "\(position), author \(String(describing: author))"
                )
            }
        }
        #expect(PreparedStatements.Session.sql == PostgresStore.sessionQuery(key: "k").sql)
    }

    @Test("The statements' names are distinct within the 63 bytes PostgreSQL keeps of a name")
    func namesAreDistinct() {
        var shapes: [any PreparedShape.Type] = [PreparedStatements.Session.self]
        for position in Self.positions {
            shapes.append(PreparedStatements.userPage(position))
            shapes += [nil, 3].map { PreparedStatements.feed(byAuthor: $0, position) }
        }
        let names = shapes.map { preparedName(of: $0) }
        #expect(names.allSatisfy { $0.utf8.count <= 63 }, "\(names)")
        #expect(Set(names.map { $0.utf8.prefix(63).map { $0 } }).count == 10, "\(names)")
    }
}

private func preparedName<Shape: PreparedShape>(of shape: Shape.Type) -> String {
    PreparedQuery<Shape>.name
}
