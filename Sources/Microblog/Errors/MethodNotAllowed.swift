import HTTPTypes
import Hummingbird

/// The 405 answers, made from the routes the router knows (`Router.routes`), so that a route is declared once,
/// where its handler is: every other method on a route's path is answered with the 405 page and an `Allow`
/// header listing the methods the path takes (HEAD wherever GET is).
enum MethodNotAllowed {
    /// The methods a client may send to any path.
    static let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options, .trace, .connect]

    /// Adds, for every path the router has, a responder for each method the path does not take. Call it once, after
    /// every route is added.
    static func addResponders<Context: RequestContext>(to router: Router<Context>) {
        let byPath = Dictionary(grouping: router.routes) { $0.path.description }
        for routes in byPath.values {
            let declared = routes.map(\.method)
            let allowed = declared.contains(.get) && !declared.contains(.head) ? declared + [.head] : declared
            let path = routes[0].path
            for method in methods where !allowed.contains(method) {
                router.on(path, method: method) { _, _ -> Response in
                    throw PageError.methodNotAllowed(allowed: allowed)
                }
            }
        }
    }
}
