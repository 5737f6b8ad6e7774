using Cronos;

namespace CurWorkflows.Workflows;

/// <summary>Pure schedule arithmetic, safe to call from workflow code (no clock, no I/O).</summary>
public static class CollectionScheduleMath
{
    /// <summary>The first due time strictly after <paramref name="afterUtc"/>.</summary>
    public static DateTime NextDue(CollectionSchedule schedule, DateTime afterUtc)
    {
        afterUtc = DateTime.SpecifyKind(afterUtc, DateTimeKind.Utc);
        if (string.IsNullOrWhiteSpace(schedule.Cron))
        {
            return afterUtc + schedule.Interval;
        }

        var next = ParseCron(schedule.Cron).GetNextOccurrence(afterUtc, TimeZoneInfo.Utc);
        // A valid expression that never fires again (e.g. a past date) falls back to the interval.
        return next ?? afterUtc + schedule.Interval;
    }

    /// <summary>Parses a 5-field (minute precision) or 6-field (with seconds) cron expression.</summary>
    public static CronExpression ParseCron(string cron)
    {
        var trimmed = cron.Trim();
        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        return CronExpression.Parse(trimmed, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
    }

    public static bool TryParseCron(string cron, out string? error)
    {
        try
        {
            ParseCron(cron);
            error = null;
            return true;
        }
        catch (CronFormatException e)
        {
            error = e.Message;
            return false;
        }
    }
}
