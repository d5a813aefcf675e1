package io.wscluster;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.JMException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's counters and health as read-only JMX attributes, one MBean per running node:
 * {@code io.wscluster:type=Node,context="<context path>",node=<node id>}. Every counter of
 * {@link WsCluster#stats()} is an attribute of type Long under its name; the health is
 * {@code health.ok}, {@code health.joined}, {@code health.delivering}, {@code health.probeRoundTripMicros},
 * {@code health.liveNodes}, {@code health.queuedMessages} and {@code health.heldForMillis}.
 * Registered after the node starts and unregistered before it stops, by the webapp lifecycle;
 * attributes are read on the JMX client's thread and only read the node's snapshots.
 */
final class NodeMBean implements DynamicMBean {
  private static final Logger LOG = LoggerFactory.getLogger(NodeMBean.class);
  private final WsCluster node;
  private final ObjectName name;
  private final MBeanServer server;

  private NodeMBean(WsCluster node, ObjectName name, MBeanServer server) {
    this.node = node;
    this.name = name;
    this.server = server;
  }

  /** Registers the node's MBean; returns null (after a WARN) if JMX refuses it. */
  static NodeMBean register(WsCluster node, String contextPath) {
    try {
      ObjectName name = new ObjectName("io.wscluster:type=Node,context="
          + ObjectName.quote(contextPath.isEmpty() ? "/" : contextPath) + ",node=" + node.nodeId());
      MBeanServer server = ManagementFactory.getPlatformMBeanServer();
      NodeMBean bean = new NodeMBean(node, name, server);
      server.registerMBean(bean, name);
      return bean;
    } catch (JMException | RuntimeException e) {
      LOG.warn("[{}] could not register the JMX MBean: {}", node.nodeId(), e.toString());
      return null;
    }
  }

  ObjectName name() {
    return name;
  }

  void unregister() {
    try {
      server.unregisterMBean(name);
    } catch (JMException | RuntimeException e) {
      LOG.debug("[{}] could not unregister {}", node.nodeId(), name, e);
    }
  }

  private Map<String, Object> values() {
    Map<String, Object> out = new java.util.TreeMap<>(node.stats());
    Health h = node.health();
    out.put("health.ok", h.ok());
    out.put("health.joined", h.joined());
    out.put("health.delivering", h.delivering());
    out.put("health.probeRoundTripMicros", h.probeRoundTripMicros());
    out.put("health.liveNodes", h.liveNodes());
    out.put("health.queuedMessages", h.queuedMessages());
    out.put("health.heldForMillis", h.heldForMillis());
    return out;
  }

  @Override
  public Object getAttribute(String attribute) throws AttributeNotFoundException {
    Object v = values().get(attribute);
    if (v == null) {
      throw new AttributeNotFoundException("no attribute " + attribute + " on " + name);
    }
    return v;
  }

  @Override
  public AttributeList getAttributes(String[] attributes) {
    Map<String, Object> values = values();
    AttributeList out = new AttributeList();
    for (String a : attributes) {
      if (values.containsKey(a)) {
        out.add(new Attribute(a, values.get(a)));
      }
    }
    return out;
  }

  @Override
  public void setAttribute(Attribute attribute) {
    throw new UnsupportedOperationException("wscluster node attributes are read-only");
  }

  @Override
  public AttributeList setAttributes(AttributeList attributes) {
    return new AttributeList();
  }

  @Override
  public Object invoke(String actionName, Object[] params, String[] signature) {
    throw new UnsupportedOperationException("wscluster nodes have no JMX operations");
  }

  /** Built on each call: counters appear as they are first bumped (rejected.<reason>, ...). */
  @Override
  public MBeanInfo getMBeanInfo() {
    List<MBeanAttributeInfo> attributes = new ArrayList<>();
    values().forEach((k, v) -> attributes.add(new MBeanAttributeInfo(k, v.getClass().getName(),
        k.startsWith("health.") ? "node health" : "counter since the node started", true, false,
        false)));
    return new MBeanInfo(NodeMBean.class.getName(), "wscluster node " + node.nodeId(),
        attributes.toArray(new MBeanAttributeInfo[0]), null, null, null);
  }
}
