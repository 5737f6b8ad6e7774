namespace CurWorkflows.Aws;

/// <summary>
/// Which boot of the host this process runs in. Spool files are not flushed to disk as they are written: while the host
/// keeps running, the page cache serves their bytes to any later process, so a killed worker loses nothing. Only a host
/// that went down (a power cut, a kernel crash) can lose bytes the kernel had not yet written back, and that always comes
/// back as a new boot. A spool file written in an earlier boot is therefore checked again before it is trusted.
/// </summary>
public static class HostBoot
{
    /// <summary>Linux's boot id (the host's, also inside a container); null where there is none, and spool files are then
    /// flushed to disk when they are complete.</summary>
    public static string? Id { get; } = Read();

    private static string? Read()
    {
        try
        {
            return OperatingSystem.IsLinux() ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() is { Length: > 0 } id ? id : null : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
