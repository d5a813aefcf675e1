# Copy this file to $JETTY_BASE/modules/ and enable it:
#   java -jar $JETTY_HOME/start.jar --add-modules=wscluster-logging
#
# Web applications then log through the server's SLF4J and its provider (Jetty's own logging by
# default, configured in $JETTY_BASE/resources/jetty-logging.properties), so wscluster's lines
# appear in the Jetty output. Without it, Jetty hides its SLF4J from web applications: a WAR that
# carries slf4j-api but no provider logs nothing ("No SLF4J providers were found").
#
# The WAR's own slf4j-api (WEB-INF/lib) is then ignored: org.slf4j is loaded from the server.

[description]
Shares the server's SLF4J (and its logging provider) with web applications, so that libraries
inside a WAR such as wscluster log into the server's log.

[tags]
logging

[depend]
logging

[ini]
jetty.webapp.addHiddenClasses+=,-org.slf4j.
jetty.webapp.addProtectedClasses+=,org.slf4j.
