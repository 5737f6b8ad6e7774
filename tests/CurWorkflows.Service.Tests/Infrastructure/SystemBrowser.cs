namespace CurWorkflows.Service.Tests.Infrastructure;

/// <summary>
/// The system's Chromium (Debian package <c>chromium</c>), driven by Playwright through its executable path: Playwright's
/// own browser download needs internet, which CI does not have.
/// </summary>
public static class SystemBrowser
{
    public const string PathVariable = "CURWORKFLOWS_TEST_CHROMIUM";
    public const string ScreenshotsVariable = "CURWORKFLOWS_TEST_SCREENSHOTS";

    private static readonly string[] ExecutableNames = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"];

    /// <summary>
    /// CURWORKFLOWS_TEST_CHROMIUM when set (null if that file does not exist), else the first of chromium,
    /// chromium-browser, google-chrome on PATH, else null.
    /// </summary>
    public static string? ChromiumPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } configured)
            {
                return File.Exists(configured) ? Path.GetFullPath(configured) : null;
            }

            var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
            return ExecutableNames.SelectMany(name => directories.Select(directory => Path.Combine(directory, name))).FirstOrDefault(File.Exists);
        }
    }

    /// <summary>Where tests save screenshots: CURWORKFLOWS_TEST_SCREENSHOTS (CI sets it), else TestResults/screenshots in the test output.</summary>
    public static string ScreenshotDirectory
    {
        get
        {
            var directory = Environment.GetEnvironmentVariable(ScreenshotsVariable) is { Length: > 0 } configured
                ? Path.GetFullPath(configured)
                : Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");
            Directory.CreateDirectory(directory);
            return directory;
        }
    }

    /// <summary>The reason to fail or skip when the browser is missing, with how to get one.</summary>
    public static string MissingMessage =>
        Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } configured
            ? $"{PathVariable} is '{configured}', which does not exist: point it at a Chromium/Chrome executable or unset it to use chromium from PATH."
            : $"No Chromium found on PATH (chromium, chromium-browser, google-chrome): install Debian's package (apt-get install -y chromium) or set {PathVariable} to a Chromium/Chrome executable.";
}

/// <summary>
/// A fact that needs the system Chromium. Skipped when none is found, unless env var CI or CURWORKFLOWS_TEST_CHROMIUM is
/// set (.ci/run sets the latter): then it runs and fails with <see cref="SystemBrowser.MissingMessage"/>, so CI cannot pass
/// without the browser.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (SystemBrowser.ChromiumPath is null
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SystemBrowser.PathVariable)))
        {
            Skip = SystemBrowser.MissingMessage;
        }
    }
}
