/// The version `microblog --version` prints: the tutorial's chapter in the minor number.
public enum MicroblogVersion {
    public static let current = "0.7.0"
}
