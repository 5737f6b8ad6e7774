namespace CurWorkflows.Cur.Reading;

public enum CurCompression
{
    None,
    Gzip,
    Zip,
}

/// <summary>
/// One CUR data file: a name for messages and checkpoints, its compression, and a way to open it (again, for resumes).
/// A zip source must open a seekable stream (the central directory is at the end); files spooled to disk are.
/// With <see cref="FrontToBack"/>, the file is read from its first byte on and its end is looked at last.
/// </summary>
public sealed class CurSource
{
    private readonly Func<Stream> _open;

    public CurSource(string name, CurCompression compression, Func<Stream> open)
    {
        Name = name;
        Compression = compression;
        _open = open;
    }

    public string Name { get; }

    public CurCompression Compression { get; }

    /// <summary>
    /// Read the file from its first byte to its last, looking at its end only after its data: a zip entry is inflated
    /// from its local header and checked against the central directory afterwards, a gzip against its trailer. For a
    /// file that is still arriving (a download in progress), whose stream's reads wait for bytes not there yet.
    /// </summary>
    public bool FrontToBack { get; init; }

    public static CurSource FromFile(string path, CurCompression? compression = null) =>
        new(path, compression ?? CompressionOf(path), () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan));

    public static CurSource FromBytes(string name, byte[] content, CurCompression? compression = null) =>
        new(name, compression ?? CompressionOf(name), () => new MemoryStream(content, writable: false));

    /// <summary>The compression a CUR object key or file name implies (`.zip`, `.gz`, anything else is plain CSV).</summary>
    public static CurCompression CompressionOf(string name) =>
        name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) ? CurCompression.Zip
        : name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? CurCompression.Gzip
        : CurCompression.None;

    internal Stream Open() => _open();
}
