import Mustache

// View models answer Mustache's lookups with a `switch` instead of `Mirror`: reflection was a third of a page's CPU
// (Benchmarks/README.md). `ViewModelKeyTests` checks that every stored property of every model is reachable here.

extension LayoutModel: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "currentUser": currentUser
        case "csrfToken": csrfToken
        case "flashes": flashes
        case "hasFlashes": hasFlashes
        default: nil
        }
    }
}

extension LayoutModel.NavUser: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "username": username
        case "profilePath": profilePath
        default: nil
        }
    }
}

extension FieldModel: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "value": value
        case "errors": errors
        default: nil
        }
    }
}

extension PostModel: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "body": body
        case "authorName": authorName
        case "authorPath": authorPath
        case "avatarURL": avatarURL
        default: nil
        }
    }
}

extension PaginationModel: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "newerURL": newerURL
        case "olderURL": olderURL
        default: nil
        }
    }
}

extension IndexPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "form": form
        case "posts": posts
        case "pagination": pagination
        default: nil
        }
    }
}

extension IndexPage.Form: MustacheParent {
    func child(named name: String) -> Any? {
        name == "post" ? post : nil
    }
}

extension UserPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "profile": profile
        case "isOwnProfile": isOwnProfile
        case "posts": posts
        case "pagination": pagination
        default: nil
        }
    }
}

extension UserPage.Profile: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "username": username
        case "aboutMe": aboutMe
        case "lastSeen": lastSeen
        case "avatarURL": avatarURL
        default: nil
        }
    }
}

extension EditProfilePage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "form": form
        default: nil
        }
    }
}

extension EditProfilePage.Form: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "username": username
        case "aboutMe": aboutMe
        default: nil
        }
    }
}

extension LoginPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "form": form
        case "rememberMe": rememberMe
        case "formErrors": formErrors
        default: nil
        }
    }
}

extension LoginPage.Form: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "username": username
        case "password": password
        default: nil
        }
    }
}

extension RegisterPage: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "form": form
        default: nil
        }
    }
}

extension RegisterPage.Form: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "username": username
        case "email": email
        case "password": password
        case "password2": password2
        default: nil
        }
    }
}

extension NotFoundModel: MustacheParent {
    func child(named name: String) -> Any? {
        name == "layout" ? layout : nil
    }
}

extension ServerErrorModel: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "correlationID": correlationID
        default: nil
        }
    }
}

extension StatusPageModel: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "heading": heading
        case "message": message
        default: nil
        }
    }
}

extension DebugPageModel: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "layout": layout
        case "errorType": errorType
        case "message": message
        case "chain": chain
        case "location": location
        case "method": method
        case "path": path
        case "headers": headers
        case "correlationID": correlationID
        default: nil
        }
    }
}

extension DebugPageModel.Header: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "value": value
        default: nil
        }
    }
}
