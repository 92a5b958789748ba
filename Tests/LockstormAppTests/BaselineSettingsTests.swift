import Testing
@testable import LockstormApp

/// The server's major version, the one baseline setting read from a connection.
@Suite struct BaselineSettingsTests {
    @Test("server_version texts give their major version: 16 for 16.4 (Debian …), 9.6 for 9.6.24")
    func majorVersions() {
        #expect(BaselineSettings.majorVersion("16.4 (Debian 16.4-1.pgdg120+2)") == "16")
        #expect(BaselineSettings.majorVersion("15.18") == "15")
        #expect(BaselineSettings.majorVersion("17devel") == "17")
        #expect(BaselineSettings.majorVersion("9.6.24") == "9.6")
        #expect(BaselineSettings.majorVersion("unknown") == nil)
    }
}
