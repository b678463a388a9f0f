// Entry point used by scripts/druid.sh instead of org.apache.druid.cli.Main.
//
// Why: Druid's Main registers every CLI command, including the Hadoop ones
// (CliInternalHadoopIndexer, DruidJsonValidator). The airline parser reflects on the
// fields of every registered command, and those reference classes from
// druid-indexing-hadoop, which is excluded from our classpath (it is not on the Maven
// Central mirror for the pinned version and Strata never uses Hadoop ingestion). So
// Main dies with NoClassDefFoundError before it starts anything. This class does what
// Main does (same PropertyCheckers, same startup injector, same extension commands) but
// registers only the server commands and the peon.
//
// Compiled once by scripts/druid.sh into .cache/druid-<version>/launcher/.
package strata.druid;

import com.github.rvesse.airline.Cli;
import com.github.rvesse.airline.builder.CliBuilder;
import com.google.inject.Injector;
import java.util.Arrays;
import java.util.ServiceLoader;
import org.apache.druid.cli.CliBroker;
import org.apache.druid.cli.CliCommandCreator;
import org.apache.druid.cli.CliCoordinator;
import org.apache.druid.cli.CliHistorical;
import org.apache.druid.cli.CliIndexer;
import org.apache.druid.cli.CliMiddleManager;
import org.apache.druid.cli.CliOverlord;
import org.apache.druid.cli.CliPeon;
import org.apache.druid.cli.CliRouter;
import org.apache.druid.cli.PropertyChecker;
import org.apache.druid.guice.ExtensionsLoader;
import org.apache.druid.guice.StartupInjectorBuilder;

public final class StrataDruidMain
{
  static {
    // As in org.apache.druid.cli.Main: e.g. Log4JShutdownPropertyChecker wires log4j's shutdown to Druid's lifecycle.
    for (PropertyChecker checker : ServiceLoader.load(PropertyChecker.class)) {
      checker.checkProperties(System.getProperties());
    }
  }

  private StrataDruidMain()
  {
  }

  @SuppressWarnings("unchecked")
  public static void main(String[] args)
  {
    final CliBuilder<Runnable> builder = Cli.builder("druid");
    builder.withDescription("Druid server runner for the Strata test cluster (no Hadoop commands).");
    builder.withGroup("server")
           .withDescription("Run one of the Druid server types.")
           .withCommands(Arrays.asList(
               CliCoordinator.class,
               CliHistorical.class,
               CliBroker.class,
               CliOverlord.class,
               CliIndexer.class,
               CliMiddleManager.class,
               CliRouter.class
           ));
    builder.withGroup("internal")
           .withDescription("Processes that Druid runs internally (peon: a MiddleManager's task JVM).")
           .withCommands(CliPeon.class);

    final Injector injector = new StartupInjectorBuilder().forServer().build();
    final ExtensionsLoader extensionsLoader = ExtensionsLoader.instance(injector);
    for (CliCommandCreator creator : extensionsLoader.getFromExtensions(CliCommandCreator.class)) {
      creator.addCommands(builder);
    }

    final Cli<Runnable> cli = builder.build();
    final Runnable command = cli.parse(args);
    injector.injectMembers(command);
    command.run();
  }
}
