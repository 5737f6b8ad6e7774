using System.Text;
using CurWorkflows.Aws;
using CurWorkflows.Cur.Aggregation;

namespace CurWorkflows.Workflows.Activities;

/// <summary>
/// A report file's finished aggregates on the spool disk, from <c>AggregateReportFile</c> to <c>StagePeriod</c>.
/// <para>
/// They are not flushed to disk. On ext4 (data=ordered) an fsync commits the journal, and with it every dirty page of
/// the spooled report beside them: 50 ms for a 118 MB zip on this machine's disk, seconds for a multi-gigabyte report on
/// a network volume, on the critical path of every file. The aggregates get the spool files' rule instead
/// (<see cref="HostBoot"/>): while the host runs, the page cache serves them to any later process, so a killed worker loses
/// nothing; only a host that went down can lose pages, and that comes back as another boot. So the file records the
/// boot that wrote it, and one from another boot is not trusted: the period is collected again
/// (<see cref="LostError"/>). Where the host has no boot id, the file is flushed before it gets its name and says so.
/// </para>
/// <para>
/// A parse's checkpoints (<see cref="SaveCheckpoint"/>) are flushed: a retry after the host restarted resumes from one
/// once the spool file has been checked again, and a checkpoint comes due only every few minutes.
/// </para>
/// </summary>
internal static class AggregatesFile
{
    /// <summary>The failure type of a <c>StagePeriod</c> that found a file's aggregates lost: the workflow collects the
    /// period again instead of retrying the staging.</summary>
    public const string LostError = "aggregates_lost";

    private const string Magic = "curworkflows-aggregates";

    /// <summary>Writes the aggregates under a temporary name and renames them into <paramref name="path"/>.</summary>
    public static void Save(CostAggregator aggregator, string path) => Save(aggregator, path, HostBoot.Id);

    internal static void Save(CostAggregator aggregator, string path, string? bootId) =>
        WriteAtomically(path, flush: bootId is null, stream =>
        {
            stream.Write(Encoding.UTF8.GetBytes($"{Magic} {bootId ?? "-"} {(bootId is null ? "flushed" : "unflushed")}\n"));
            aggregator.Save(stream);
        });

    /// <summary>Writes a parse checkpoint (the aggregator's state, no header), flushed, under a temporary name first.</summary>
    public static void SaveCheckpoint(CostAggregator aggregator, string path) => WriteAtomically(path, flush: true, aggregator.Save);

    public static CostAggregator LoadCheckpoint(string path, CostAggregationOptions options)
    {
        using var stream = OpenRead(path);
        return CostAggregator.Load(stream, options);
    }

    /// <summary>
    /// The aggregates at <paramref name="path"/>, or null with the reason when they cannot be trusted: gone, not written
    /// by <see cref="Save(CostAggregator, string)"/> (an older build's file, or pages lost with the host), written
    /// unflushed in another boot of the host, or unreadable.
    /// </summary>
    public static CostAggregator? TryLoad(string path, CostAggregationOptions options, out string reason) =>
        TryLoad(path, options, HostBoot.Id, out reason);

    internal static CostAggregator? TryLoad(string path, CostAggregationOptions options, string? bootId, out string reason)
    {
        FileStream stream;
        try
        {
            stream = OpenRead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            reason = "they are gone";
            return null;
        }

        using (stream)
        {
            var header = ReadHeader(stream)?.Split(' ');
            if (header is not [Magic, var writtenIn, var flushed and ("flushed" or "unflushed")])
            {
                reason = "the file does not start with their header (pages lost with the host, or an older build's file)";
                return null;
            }

            if (flushed == "unflushed" && writtenIn != bootId)
            {
                reason = "they were written before the host restarted and not flushed to disk";
                return null;
            }

            try
            {
                var aggregator = CostAggregator.Load(stream, options);
                reason = "";
                return aggregator;
            }
            catch (InvalidDataException e)
            {
                // Damaged on this host's disk since: as lost as pages of another boot.
                reason = $"they cannot be read ({e.Message})";
                return null;
            }
        }
    }

    private static void WriteAtomically(string path, bool flush, Action<Stream> write)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            write(stream);
            if (flush)
            {
                stream.Flush(flushToDisk: true);
            }
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static FileStream OpenRead(string path) => new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);

    /// <summary>The first line, read byte by byte so that the stream stays at the payload; null without a line feed in
    /// the first 200 bytes.</summary>
    private static string? ReadHeader(Stream stream)
    {
        var line = new List<byte>(100);
        for (var b = stream.ReadByte(); b >= 0 && line.Count < 200; b = stream.ReadByte())
        {
            if (b == '\n')
            {
                return Encoding.UTF8.GetString([.. line]);
            }

            line.Add((byte)b);
        }

        return null;
    }
}
